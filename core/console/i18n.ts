// The console frame's own words (navigation, sign-in, errors). Each module
// keeps the words of its pages in its own room.

import type { Language } from '../language.js';

export interface FrameWords {
  suite: string;
  home: string;
  signIn: string;
  signOut: string;
  signedInAs: string;
  activeRoles: string;
  roles: string;
  password: string;
  passwordNeeded: string;
  signedOut: string;
  error: string;
  forbidden: string;
  notFound: string;
  sections: string;
  noSection: string;
  language: string;
}

const en: FrameWords = {
  suite: 'egov-ops',
  home: 'Console',
  signIn: 'Sign in',
  signOut: 'Sign out',
  signedInAs: 'Signed in as',
  activeRoles: 'Active roles',
  roles: 'Roles',
  password: 'Password',
  passwordNeeded: 'Your administrator roles become active after you give your password.',
  signedOut: 'You are signed out. Open any page to start a new session.',
  error: 'Error',
  forbidden: 'Not allowed',
  notFound: 'Not found',
  sections: 'What you can open',
  noSection: 'No section of the console admits your roles yet.',
  language: 'Language',
};

const zh: FrameWords = {
  suite: 'egov-ops',
  home: '控制台',
  signIn: '登录',
  signOut: '退出',
  signedInAs: '当前用户',
  activeRoles: '生效角色',
  roles: '角色',
  password: '口令',
  passwordNeeded: '管理员角色需输入口令后生效。',
  signedOut: '已退出。打开任一页面即开始新的会话。',
  error: '错误',
  forbidden: '无权访问',
  notFound: '未找到',
  sections: '可访问的功能',
  noSection: '您的角色尚无可访问的功能。',
  language: '语言',
};

export function frameWords(lang: Language): FrameWords {
  return lang === 'zh-CN' ? zh : en;
}

/** A text in both languages: what modules give for navigation labels. */
export interface Bilingual {
  en: string;
  'zh-CN': string;
}
