// The web console's frame, shared by every module's pages (see frame.ts).
export {
  ConsoleRegistry,
  consolePage,
  sendPage,
  ensureSession,
  pageErrorHandler,
  pageLanguage,
  flashOf,
  csrfOf,
  csrfField,
  backPath,
  redirectWith,
  esc,
  PAGE_CSP,
  FRAME_STYLE,
  type ConsoleSection,
  type Asset,
  type Flash,
  type PageOptions,
  type Bilingual,
} from './frame.js';
export { consolePages, type ConsolePagesOptions } from './routes.js';
export { frameWords, type FrameWords } from './i18n.js';
