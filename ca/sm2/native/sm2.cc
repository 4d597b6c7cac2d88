// SM2 signatures (SM3withSM2) with an explicit distinguishing ID, GM/T 0009.
//
// Node's crypto.sign('sm3', data, sm2Key) uses OpenSSL 3's default, which is an
// EMPTY distinguishing ID. GM/T 0009 requires the default ID "1234567812345678":
//   Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA),  e = SM3(Z_A || M)
// OpenSSL 3 takes the ID through EVP_PKEY_CTX_set1_id(). This addon calls the
// OpenSSL that is statically linked into (and exported by) the node binary, so
// keys exported from node KeyObjects are handled by the very same library.
//
// Exports (plain N-API, no node-addon-api):
//   loadPrivateKey(pkcs8Der)                   -> handle (external)
//   loadPublicKey(spkiDer)                     -> handle (external)
//   sign(keyOrDer, message, id)                -> Buffer (DER SEQUENCE{r,s})
//   signAsync(keyOrDer, message, id)           -> Promise<Buffer>
//   verify(keyOrDer, message, signature, id)   -> boolean
//   verifyAsync(keyOrDer, message, signature, id) -> Promise<boolean>
//   keyInfo(handle)                            -> { private: boolean, bits: number }
//   opensslVersion                             -> string
//
// "keyOrDer" is either a handle from loadPrivateKey/loadPublicKey (fast path,
// key parsed once) or a DER Buffer (PKCS#8 for sign; SPKI for verify), parsed
// on every call. Verification also accepts a private-key handle.
//
// Every OpenSSL failure becomes a thrown JS Error (or a rejected Promise) with
// the OpenSSL error queue in the message; a signature that does not verify
// (including malformed / empty / truncated DER) yields false, not an error.

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/x509.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/bn.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if OPENSSL_VERSION_MAJOR < 3
#error "this addon needs OpenSSL 3 headers (node's own, under <nodedir>/include/node)"
#endif

namespace {

// ---------------------------------------------------------------------------
// Key handles

struct KeyHandle {
  EVP_PKEY* pkey;
  bool is_private;
};

// Random tag so a foreign napi_external can never be mistaken for our handle.
const napi_type_tag kKeyHandleTag = {0x5f1c0d2a7e3b4c91ULL, 0xa2d4e6f80b1c3d5eULL};

const size_t kMaxIdLen = 8191;  // ENTL is a 16-bit count of *bits*

void FinalizeKeyHandle(napi_env env, void* data, void* hint) {
  KeyHandle* h = static_cast<KeyHandle*>(data);
  if (h != nullptr) {
    EVP_PKEY_free(h->pkey);
    delete h;
  }
}

// Drains the (thread-local) OpenSSL error queue into a readable string.
std::string OpenSslErrors() {
  std::string out;
  unsigned long code;
  const char* file = nullptr;
  int line = 0;
  const char* data = nullptr;
  int flags = 0;
  int shown = 0, dropped = 0;
  while ((code = ERR_get_error_all(&file, &line, nullptr, &data, &flags)) != 0) {
    if (shown == 2) {  // the first entries are the informative ones
      dropped++;
      continue;
    }
    shown++;
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
    if (data != nullptr && (flags & ERR_TXT_STRING) && data[0] != '\0') {
      out += " (";
      out += data;
      out += ")";
    }
  }
  if (dropped > 0) out += "; (+" + std::to_string(dropped) + " more)";
  return out;
}

std::string WithOpenSsl(const std::string& what) {
  std::string errs = OpenSslErrors();
  if (errs.empty()) return what;
  return what + ": " + errs;
}

// Is this key on the SM2 curve (either the "SM2" key type, or EC with the
// SM2 group)? OpenSSL 3 decodes id-ecPublicKey + curve 1.2.156.10197.1.301
// as an "SM2" key.
bool IsSm2(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "SM2")) return true;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char name[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) == 1 &&
        std::strcmp(name, "SM2") == 0)
      return true;
    ERR_clear_error();
  }
  return false;
}

std::string KeyTypeName(EVP_PKEY* pkey) {
  const char* n = EVP_PKEY_get0_type_name(pkey);
  return n != nullptr ? n : "unknown";
}

// Parses DER into an SM2 key: PKCS#8 (or traditional) for a private key,
// SubjectPublicKeyInfo for a public one. On failure returns nullptr and sets err.
EVP_PKEY* ParseSm2Key(const uint8_t* der, size_t len, bool is_private, std::string& err) {
  const std::string what = is_private ? "SM2 private key" : "SM2 public key";
  if (len == 0) {
    err = what + " DER is empty";
    return nullptr;
  }
  if (len > static_cast<size_t>(INT32_MAX)) {
    err = what + " DER is too large";
    return nullptr;
  }
  ERR_clear_error();
  const unsigned char* p = der;
  EVP_PKEY* pkey = is_private ? d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(len))
                              : d2i_PUBKEY(nullptr, &p, static_cast<long>(len));
  if (pkey == nullptr) {
    err = WithOpenSsl("cannot parse " + what + (is_private ? " (expected PKCS#8 DER)" : " (expected SPKI DER)"));
    return nullptr;
  }
  ERR_clear_error();
  if (!IsSm2(pkey)) {
    err = "not an " + what + " (key type " + KeyTypeName(pkey) + ")";
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return pkey;
}

EVP_PKEY* ParsePrivateKey(const uint8_t* der, size_t len, std::string& err) { return ParseSm2Key(der, len, true, err); }
EVP_PKEY* ParsePublicKey(const uint8_t* der, size_t len, std::string& err) { return ParseSm2Key(der, len, false, err); }

// ---------------------------------------------------------------------------
// Builds a public key from its parts; nullptr on failure (err set).
EVP_PKEY* KeyFromParts(const std::string& ec_group, const std::vector<uint8_t>& a,
                       const std::vector<uint8_t>& b, std::string& err) {
  ERR_clear_error();
  EVP_PKEY* pkey = nullptr;
  // The SM2 curve needs OpenSSL's "SM2" key type: as a plain EC key it would verify ECDSA, not SM2.
  const char* type = ec_group.empty() ? "RSA" : ec_group == "SM2" ? "SM2" : "EC";
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  BIGNUM *n = nullptr, *e = nullptr;
  do {
    if (ctx == nullptr || bld == nullptr || EVP_PKEY_fromdata_init(ctx) != 1) {
      err = WithOpenSsl("verify: cannot set up key import");
      break;
    }
    if (!ec_group.empty()) {
      if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ec_group.c_str(), 0) != 1 ||
          OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, a.data(), a.size()) != 1) {
        err = WithOpenSsl("verify: cannot describe the EC key");
        break;
      }
    } else {
      n = BN_bin2bn(a.data(), static_cast<int>(a.size()), nullptr);
      e = BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr);
      if (n == nullptr || e == nullptr || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
          OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1) {
        err = WithOpenSsl("verify: cannot describe the RSA key");
        break;
      }
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == nullptr || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
      err = WithOpenSsl("verify: the public key is not valid");
      pkey = nullptr;
    }
  } while (false);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(n);
  BN_free(e);
  EVP_PKEY_CTX_free(ctx);
  ERR_clear_error();
  return pkey;
}

// The actual crypto; thread-agnostic (runs on the JS thread or a pool thread).

const unsigned char kEmpty[1] = {0};

bool DoSign(EVP_PKEY* pkey, const uint8_t* msg, size_t msg_len, const uint8_t* id,
            size_t id_len, std::vector<uint8_t>& sig, std::string& err) {
  ERR_clear_error();
  bool ok = false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by mctx
  EVP_MD_CTX* mctx = EVP_MD_CTX_new();
  if (mctx == nullptr) {
    err = WithOpenSsl("SM2 sign: EVP_MD_CTX_new failed");
    return false;
  }
  do {
    if (EVP_DigestSignInit_ex(mctx, &pctx, "SM3", nullptr, nullptr, pkey, nullptr) != 1) {
      err = WithOpenSsl("SM2 sign: EVP_DigestSignInit(SM3) failed");
      break;
    }
    if (id_len > 0 && EVP_PKEY_CTX_set1_id(pctx, id, id_len) <= 0) {
      err = WithOpenSsl("SM2 sign: setting the distinguishing ID failed");
      break;
    }
    int max = EVP_PKEY_get_size(pkey);
    if (max <= 0) {
      err = WithOpenSsl("SM2 sign: cannot determine signature size");
      break;
    }
    sig.resize(static_cast<size_t>(max));
    size_t sig_len = sig.size();
    if (EVP_DigestSign(mctx, sig.data(), &sig_len, msg_len > 0 ? msg : kEmpty, msg_len) != 1) {
      err = WithOpenSsl("SM2 sign failed");
      break;
    }
    sig.resize(sig_len);
    ok = true;
  } while (false);
  EVP_MD_CTX_free(mctx);
  ERR_clear_error();
  return ok;
}

// Returns 1 valid, 0 invalid, -1 error (err set). A signature that merely
// fails to verify (bad value, malformed DER) is 0, not an error.
int DoVerify(EVP_PKEY* pkey, const uint8_t* msg, size_t msg_len, const uint8_t* sig,
             size_t sig_len, const uint8_t* id, size_t id_len, std::string& err,
             const char* digest = "SM3") {
  ERR_clear_error();
  if (sig_len == 0) return 0;
  int result = -1;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by mctx
  EVP_MD_CTX* mctx = EVP_MD_CTX_new();
  if (mctx == nullptr) {
    err = WithOpenSsl("SM2 verify: EVP_MD_CTX_new failed");
    return -1;
  }
  do {
    if (EVP_DigestVerifyInit_ex(mctx, &pctx, digest, nullptr, nullptr, pkey, nullptr) != 1) {
      err = WithOpenSsl(std::string("verify: EVP_DigestVerifyInit(") + (digest ? digest : "none") + ") failed");
      break;
    }
    if (id_len > 0 && EVP_PKEY_CTX_set1_id(pctx, id, id_len) <= 0) {
      err = WithOpenSsl("SM2 verify: setting the distinguishing ID failed");
      break;
    }
    int r = EVP_DigestVerify(mctx, sig, sig_len, msg_len > 0 ? msg : kEmpty, msg_len);
    result = (r == 1) ? 1 : 0;
  } while (false);
  EVP_MD_CTX_free(mctx);
  ERR_clear_error();
  return result;
}

// ---------------------------------------------------------------------------
// N-API plumbing

#define NAPI_CALL(env, call)                                         \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      ThrowNapiError(env, #call);                                    \
      return nullptr;                                                \
    }                                                                \
  } while (0)

void ThrowNapiError(napi_env env, const char* what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  std::string msg = "sm2 addon: N-API call failed: ";
  msg += what;
  if (info != nullptr && info->error_message != nullptr) {
    msg += " (";
    msg += info->error_message;
    msg += ")";
  }
  napi_throw_error(env, "ERR_SM2_NAPI", msg.c_str());
}

napi_value Throw(napi_env env, const char* code, const std::string& msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, code, msg.c_str());
  return nullptr;
}

napi_value ThrowType(napi_env env, const std::string& msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg.c_str());
  return nullptr;
}

// Reads a Buffer / Uint8Array argument. Returns false (with a pending
// exception) if the value is not one.
bool GetBytes(napi_env env, napi_value v, const char* name, const uint8_t** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok) {
    ThrowNapiError(env, "napi_is_typedarray");
    return false;
  }
  if (!is_ta) {
    ThrowType(env, std::string("sm2: ") + name + " must be a Buffer or Uint8Array");
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, nullptr, nullptr) != napi_ok) {
    ThrowNapiError(env, "napi_get_typedarray_info");
    return false;
  }
  if (type != napi_uint8_array && type != napi_uint8_clamped_array) {
    ThrowType(env, std::string("sm2: ") + name + " must be a Buffer or Uint8Array");
    return false;
  }
  *data = static_cast<const uint8_t*>(ptr);
  *len = length;
  return true;
}

bool GetId(napi_env env, napi_value v, const uint8_t** data, size_t* len) {
  if (!GetBytes(env, v, "id", data, len)) return false;
  if (*len > kMaxIdLen) {
    Throw(env, "ERR_SM2_ID_TOO_LONG",
          "sm2: distinguishing ID is too long (" + std::to_string(*len) + " bytes, max " +
              std::to_string(kMaxIdLen) + ")");
    return false;
  }
  return true;
}

// If v is one of our handles, returns it; otherwise nullptr (no exception).
KeyHandle* AsHandle(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &kKeyHandleTag, &tagged) != napi_ok || !tagged)
    return nullptr;
  void* data = nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok) return nullptr;
  return static_cast<KeyHandle*>(data);
}

enum class Want { Private, Public };

// Resolves a key argument (handle or DER buffer) to an EVP_PKEY with an extra
// reference the caller must EVP_PKEY_free(). Returns nullptr with a pending
// exception on failure.
EVP_PKEY* GetKey(napi_env env, napi_value v, Want want) {
  if (KeyHandle* h = AsHandle(env, v)) {
    if (want == Want::Private && !h->is_private) {
      Throw(env, "ERR_SM2_KEY_TYPE", "sm2: signing needs a private key handle, got a public key");
      return nullptr;
    }
    if (EVP_PKEY_up_ref(h->pkey) != 1) {
      Throw(env, "ERR_SM2_OPENSSL", WithOpenSsl("sm2: EVP_PKEY_up_ref failed"));
      return nullptr;
    }
    return h->pkey;
  }
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) {
    ThrowType(env, "sm2: key must be a key handle (loadPrivateKey/loadPublicKey) or a DER Buffer");
    return nullptr;
  }
  const uint8_t* der = nullptr;
  size_t len = 0;
  if (!GetBytes(env, v, "key DER", &der, &len)) return nullptr;
  std::string err;
  EVP_PKEY* pkey = want == Want::Private ? ParsePrivateKey(der, len, err)
                                         : ParsePublicKey(der, len, err);
  if (pkey == nullptr) {
    Throw(env, "ERR_SM2_KEY", "sm2: " + err);
    return nullptr;
  }
  return pkey;
}

bool GetArgs(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) {
    ThrowNapiError(env, "napi_get_cb_info");
    return false;
  }
  if (argc < want) {
    ThrowType(env, "sm2: expected " + std::to_string(want) + " arguments, got " +
                       std::to_string(argc));
    return false;
  }
  return true;
}

napi_value MakeBuffer(napi_env env, const std::vector<uint8_t>& bytes) {
  napi_value buf;
  void* dst = nullptr;
  if (napi_create_buffer_copy(env, bytes.size(), bytes.empty() ? kEmpty : bytes.data(), &dst,
                              &buf) != napi_ok) {
    ThrowNapiError(env, "napi_create_buffer_copy");
    return nullptr;
  }
  return buf;
}

napi_value WrapKey(napi_env env, EVP_PKEY* pkey, bool is_private) {
  KeyHandle* h = new KeyHandle{pkey, is_private};
  napi_value ext;
  if (napi_create_external(env, h, FinalizeKeyHandle, nullptr, &ext) != napi_ok) {
    EVP_PKEY_free(pkey);
    delete h;
    ThrowNapiError(env, "napi_create_external");
    return nullptr;
  }
  if (napi_type_tag_object(env, ext, &kKeyHandleTag) != napi_ok) {
    // The finalizer now owns h; it will free it.
    ThrowNapiError(env, "napi_type_tag_object");
    return nullptr;
  }
  return ext;
}

// ---------------------------------------------------------------------------
// Exported functions

napi_value LoadPrivateKey(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!GetArgs(env, info, 1, argv)) return nullptr;
  const uint8_t* der = nullptr;
  size_t len = 0;
  if (!GetBytes(env, argv[0], "private key DER", &der, &len)) return nullptr;
  std::string err;
  EVP_PKEY* pkey = ParsePrivateKey(der, len, err);
  if (pkey == nullptr) return Throw(env, "ERR_SM2_KEY", "sm2: " + err);
  return WrapKey(env, pkey, true);
}

napi_value LoadPublicKey(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!GetArgs(env, info, 1, argv)) return nullptr;
  const uint8_t* der = nullptr;
  size_t len = 0;
  if (!GetBytes(env, argv[0], "public key DER", &der, &len)) return nullptr;
  std::string err;
  EVP_PKEY* pkey = ParsePublicKey(der, len, err);
  if (pkey == nullptr) return Throw(env, "ERR_SM2_KEY", "sm2: " + err);
  return WrapKey(env, pkey, false);
}

napi_value KeyInfo(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!GetArgs(env, info, 1, argv)) return nullptr;
  KeyHandle* h = AsHandle(env, argv[0]);
  if (h == nullptr) return ThrowType(env, "sm2: keyInfo expects a key handle");
  napi_value obj, priv, bits;
  NAPI_CALL(env, napi_create_object(env, &obj));
  NAPI_CALL(env, napi_get_boolean(env, h->is_private, &priv));
  NAPI_CALL(env, napi_create_int32(env, EVP_PKEY_get_bits(h->pkey), &bits));
  NAPI_CALL(env, napi_set_named_property(env, obj, "private", priv));
  NAPI_CALL(env, napi_set_named_property(env, obj, "bits", bits));
  return obj;
}

napi_value Sign(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!GetArgs(env, info, 3, argv)) return nullptr;
  const uint8_t *msg = nullptr, *id = nullptr;
  size_t msg_len = 0, id_len = 0;
  if (!GetBytes(env, argv[1], "message", &msg, &msg_len)) return nullptr;
  if (!GetId(env, argv[2], &id, &id_len)) return nullptr;
  EVP_PKEY* pkey = GetKey(env, argv[0], Want::Private);
  if (pkey == nullptr) return nullptr;
  std::vector<uint8_t> sig;
  std::string err;
  bool ok = DoSign(pkey, msg, msg_len, id, id_len, sig, err);
  EVP_PKEY_free(pkey);
  if (!ok) return Throw(env, "ERR_SM2_SIGN", err);
  return MakeBuffer(env, sig);
}

napi_value Verify(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv)) return nullptr;
  const uint8_t *msg = nullptr, *sig = nullptr, *id = nullptr;
  size_t msg_len = 0, sig_len = 0, id_len = 0;
  if (!GetBytes(env, argv[1], "message", &msg, &msg_len)) return nullptr;
  if (!GetBytes(env, argv[2], "signature", &sig, &sig_len)) return nullptr;
  if (!GetId(env, argv[3], &id, &id_len)) return nullptr;
  EVP_PKEY* pkey = GetKey(env, argv[0], Want::Public);
  if (pkey == nullptr) return nullptr;
  std::string err;
  int r = DoVerify(pkey, msg, msg_len, sig, sig_len, id, id_len, err);
  EVP_PKEY_free(pkey);
  if (r < 0) return Throw(env, "ERR_SM2_VERIFY", err);
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, r == 1, &out));
  return out;
}

// --- async (libuv thread pool) ---------------------------------------------

struct Job {
  bool is_sign = true;
  EVP_PKEY* pkey = nullptr;  // own reference
  std::vector<uint8_t> msg, sig, id;
  std::vector<uint8_t> out;  // signature result
  // verifySpkiAsync: the key arrives as SPKI DER and is parsed on the pool
  // thread (OpenSSL 3's decoder costs ~150 us, too much for the JS thread).
  std::vector<uint8_t> spki;
  std::string digest;
  // Fast path: the key as its parts (EC group + point, or RSA n + e), built
  // with EVP_PKEY_fromdata, which skips the decoder framework entirely.
  std::string ec_group;
  std::vector<uint8_t> part_a, part_b;
  int verify_result = -1;
  bool ok = false;
  std::string err;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

void ExecuteJob(napi_env env, void* data) {
  // No N-API calls here: this runs on a libuv pool thread.
  Job* job = static_cast<Job*>(data);
  if (job->is_sign) {
    job->ok = DoSign(job->pkey, job->msg.data(), job->msg.size(), job->id.data(), job->id.size(),
                     job->out, job->err);
  } else if (!job->spki.empty() || !job->part_a.empty()) {
    if (!job->part_a.empty()) {
      job->pkey = KeyFromParts(job->ec_group, job->part_a, job->part_b, job->err);
    } else {
      const unsigned char* p = job->spki.data();
      ERR_clear_error();
      job->pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(job->spki.size()));
      if (job->pkey == nullptr) job->err = WithOpenSsl("verify: cannot parse the public key (SPKI DER)");
    }
    if (job->pkey == nullptr) {
      job->ok = false;
      return;
    }
    job->verify_result = DoVerify(job->pkey, job->msg.data(), job->msg.size(), job->sig.data(),
                                  job->sig.size(), job->id.data(), job->id.size(), job->err,
                                  job->digest.empty() ? nullptr : job->digest.c_str());
    job->ok = job->verify_result >= 0;
  } else {
    job->verify_result = DoVerify(job->pkey, job->msg.data(), job->msg.size(), job->sig.data(),
                                  job->sig.size(), job->id.data(), job->id.size(), job->err);
    job->ok = job->verify_result >= 0;
  }
}

void RejectWith(napi_env env, napi_deferred deferred, const char* code, const std::string& msg) {
  napi_value c, m, e;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) == napi_ok &&
      napi_create_string_utf8(env, msg.c_str(), msg.size(), &m) == napi_ok &&
      napi_create_error(env, c, m, &e) == napi_ok) {
    napi_reject_deferred(env, deferred, e);
    return;
  }
  napi_value undef;
  napi_get_undefined(env, &undef);
  napi_reject_deferred(env, deferred, undef);
}

void CompleteJob(napi_env env, napi_status status, void* data) {
  Job* job = static_cast<Job*>(data);
  if (status == napi_cancelled) {
    RejectWith(env, job->deferred, "ERR_SM2_CANCELLED", "sm2: operation cancelled");
  } else if (!job->ok) {
    RejectWith(env, job->deferred, job->is_sign ? "ERR_SM2_SIGN" : "ERR_SM2_VERIFY", job->err);
  } else if (job->is_sign) {
    napi_value buf;
    void* dst = nullptr;
    if (napi_create_buffer_copy(env, job->out.size(), job->out.data(), &dst, &buf) == napi_ok) {
      napi_resolve_deferred(env, job->deferred, buf);
    } else {
      RejectWith(env, job->deferred, "ERR_SM2_NAPI", "sm2: cannot allocate result buffer");
    }
  } else {
    napi_value b;
    if (napi_get_boolean(env, job->verify_result == 1, &b) == napi_ok) {
      napi_resolve_deferred(env, job->deferred, b);
    } else {
      RejectWith(env, job->deferred, "ERR_SM2_NAPI", "sm2: cannot create result");
    }
  }
  napi_delete_async_work(env, job->work);
  EVP_PKEY_free(job->pkey);
  delete job;
}

napi_value Queue(napi_env env, Job* job, const char* name) {
  napi_value promise, resource_name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    EVP_PKEY_free(job->pkey);
    delete job;
    ThrowNapiError(env, "napi_create_promise");
    return nullptr;
  }
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, nullptr, resource_name, ExecuteJob, CompleteJob, job,
                             &job->work) != napi_ok) {
    RejectWith(env, job->deferred, "ERR_SM2_NAPI", "sm2: cannot create async work");
    EVP_PKEY_free(job->pkey);
    delete job;
    return promise;
  }
  if (napi_queue_async_work(env, job->work) != napi_ok) {
    RejectWith(env, job->deferred, "ERR_SM2_NAPI", "sm2: cannot queue async work");
    napi_delete_async_work(env, job->work);
    EVP_PKEY_free(job->pkey);
    delete job;
    return promise;
  }
  return promise;
}

// Argument errors are thrown synchronously (they are programming errors);
// OpenSSL failures reject the promise.
napi_value SignAsync(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!GetArgs(env, info, 3, argv)) return nullptr;
  const uint8_t *msg = nullptr, *id = nullptr;
  size_t msg_len = 0, id_len = 0;
  if (!GetBytes(env, argv[1], "message", &msg, &msg_len)) return nullptr;
  if (!GetId(env, argv[2], &id, &id_len)) return nullptr;
  EVP_PKEY* pkey = GetKey(env, argv[0], Want::Private);
  if (pkey == nullptr) return nullptr;
  Job* job = new Job();
  job->is_sign = true;
  job->pkey = pkey;
  job->msg.assign(msg, msg + msg_len);  // copy: JS may mutate/free the buffer meanwhile
  job->id.assign(id, id + id_len);
  return Queue(env, job, "sm2.signAsync");
}

napi_value VerifyAsync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!GetArgs(env, info, 4, argv)) return nullptr;
  const uint8_t *msg = nullptr, *sig = nullptr, *id = nullptr;
  size_t msg_len = 0, sig_len = 0, id_len = 0;
  if (!GetBytes(env, argv[1], "message", &msg, &msg_len)) return nullptr;
  if (!GetBytes(env, argv[2], "signature", &sig, &sig_len)) return nullptr;
  if (!GetId(env, argv[3], &id, &id_len)) return nullptr;
  EVP_PKEY* pkey = GetKey(env, argv[0], Want::Public);
  if (pkey == nullptr) return nullptr;
  Job* job = new Job();
  job->is_sign = false;
  job->pkey = pkey;
  job->msg.assign(msg, msg + msg_len);
  job->sig.assign(sig, sig + sig_len);
  job->id.assign(id, id + id_len);
  return Queue(env, job, "sm2.verifyAsync");
}

// verifySpkiAsync(spkiDer, digestName, message, signature, id): any key type
// OpenSSL knows; digestName "" for none (Ed25519), "SM3" with an ID for SM2.
napi_value VerifySpkiAsync(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!GetArgs(env, info, 5, argv)) return nullptr;
  const uint8_t *spki = nullptr, *msg = nullptr, *sig = nullptr, *id = nullptr;
  size_t spki_len = 0, msg_len = 0, sig_len = 0, id_len = 0;
  if (!GetBytes(env, argv[0], "public key DER", &spki, &spki_len)) return nullptr;
  char digest[32] = {0};
  size_t digest_len = 0;
  if (napi_get_value_string_utf8(env, argv[1], digest, sizeof(digest), &digest_len) != napi_ok) {
    ThrowType(env, "verify: digest must be a string");
    return nullptr;
  }
  if (!GetBytes(env, argv[2], "message", &msg, &msg_len)) return nullptr;
  if (!GetBytes(env, argv[3], "signature", &sig, &sig_len)) return nullptr;
  if (!GetId(env, argv[4], &id, &id_len)) return nullptr;
  if (spki_len == 0 || spki_len > 16384) {
    Throw(env, "ERR_SM2_KEY", "verify: public key DER is empty or too large");
    return nullptr;
  }
  Job* job = new Job();
  job->is_sign = false;
  job->spki.assign(spki, spki + spki_len);
  job->digest.assign(digest, digest_len);
  job->msg.assign(msg, msg + msg_len);
  job->sig.assign(sig, sig + sig_len);
  job->id.assign(id, id + id_len);
  return Queue(env, job, "verifySpkiAsync");
}

// verifyPartsAsync(ecGroup, a, b, digestName, message, signature, id): ecGroup
// "prime256v1"/"secp384r1"/"SM2" with a = the point (04||x||y); or ecGroup ""
// for RSA with a = n, b = e (big-endian magnitudes). id: the SM2
// distinguishing ID (empty otherwise).
napi_value VerifyPartsAsync(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!GetArgs(env, info, 7, argv)) return nullptr;
  char group[32] = {0}, digest[32] = {0};
  size_t group_len = 0, digest_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], group, sizeof(group), &group_len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], digest, sizeof(digest), &digest_len) != napi_ok) {
    ThrowType(env, "verify: group and digest must be strings");
    return nullptr;
  }
  const uint8_t *a = nullptr, *b = nullptr, *msg = nullptr, *sig = nullptr;
  size_t a_len = 0, b_len = 0, msg_len = 0, sig_len = 0;
  if (!GetBytes(env, argv[1], "key part a", &a, &a_len)) return nullptr;
  if (!GetBytes(env, argv[2], "key part b", &b, &b_len)) return nullptr;
  if (!GetBytes(env, argv[4], "message", &msg, &msg_len)) return nullptr;
  if (!GetBytes(env, argv[5], "signature", &sig, &sig_len)) return nullptr;
  const uint8_t* id = nullptr;
  size_t id_len = 0;
  if (!GetId(env, argv[6], &id, &id_len)) return nullptr;
  if (a_len == 0 || a_len > 2048 || b_len > 2048 || (group_len == 0 && b_len == 0)) {
    Throw(env, "ERR_SM2_KEY", "verify: key parts are empty or too large");
    return nullptr;
  }
  Job* job = new Job();
  job->is_sign = false;
  job->ec_group.assign(group, group_len);
  job->part_a.assign(a, a + a_len);
  job->part_b.assign(b, b + b_len);
  job->digest.assign(digest, digest_len);
  job->msg.assign(msg, msg + msg_len);
  job->sig.assign(sig, sig + sig_len);
  job->id.assign(id, id + id_len);
  return Queue(env, job, "verifyPartsAsync");
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"loadPrivateKey", nullptr, LoadPrivateKey, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"loadPublicKey", nullptr, LoadPublicKey, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"keyInfo", nullptr, KeyInfo, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sign", nullptr, Sign, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"signAsync", nullptr, SignAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"verify", nullptr, Verify, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"verifyAsync", nullptr, VerifyAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"verifySpkiAsync", nullptr, VerifySpkiAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"verifyPartsAsync", nullptr, VerifyPartsAsync, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  napi_value ver;
  NAPI_CALL(env, napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &ver));
  NAPI_CALL(env, napi_set_named_property(env, exports, "opensslVersion", ver));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
