// The pages' language: English or Chinese. The `egov_lang` cookie (set by
// each page's switch) wins; else the browser's Accept-Language, by q; else English.

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];

export function pickLanguage(cookieHeader: string | undefined, acceptLanguage: string | undefined): Language {
  const chosen = /(?:^|;\s*)egov_lang=([^;]+)/.exec(cookieHeader ?? '')?.[1];
  if (chosen === 'en' || chosen === 'zh-CN') return chosen;
  const preferred = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag, q] = part.trim().split(/;\s*q=/);
      const weight = q === undefined ? 1 : Number(q);
      return { tag: (tag ?? '').toLowerCase(), q: Number.isFinite(weight) ? weight : 0 };
    })
    .filter((p) => p.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of preferred) {
    if (tag.startsWith('zh')) return 'zh-CN';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}
