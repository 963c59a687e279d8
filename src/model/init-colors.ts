import { DEFAULT_INITS, INITS, type InitName } from './inits.js';

/**
 * One color per init, the same hue in SVG charts and in the terminal, so a reader can carry
 * the legend from one to the other. `none` is red: it is the failure case.
 */
export const INIT_COLORS: Readonly<Record<InitName, { hex: string; ansi: string }>> = {
  none: { hex: '#d62728', ansi: '\x1b[31m' },
  // The other apps as PID 1: red-brown shades, the failure family of `none`.
  'none:python': { hex: '#8c564b', ansi: '\x1b[31m' },
  'none:bash': { hex: '#e377c2', ansi: '\x1b[35m' },
  'none:sh': { hex: '#f7b6d2', ansi: '\x1b[35m' },
  tini: { hex: '#1f77b4', ansi: '\x1b[34m' },
  'dumb-init': { hex: '#2ca02c', ansi: '\x1b[32m' },
  'docker-init': { hex: '#17becf', ansi: '\x1b[36m' },
  catatonit: { hex: '#9467bd', ansi: '\x1b[35m' },
  'ts-reaper': { hex: '#ff7f0e', ansi: '\x1b[33m' },
  // Supervisors: greys and olive.
  supervisord: { hex: '#7f7f7f', ansi: '\x1b[90m' },
  's6-svscan': { hex: '#bcbd22', ansi: '\x1b[33m' },
  runit: { hex: '#393b79', ansi: '\x1b[34m' },
};

/**
 * Vega scale domain and range that pin each init to its color. `present`: only these inits
 * (in INITS order) appear in the legend; default the six {@link DEFAULT_INITS}, whose charts were
 * drawn before the other rows existed.
 */
export function initColorScale(present?: Iterable<string>): { domain: string[]; range: string[] } {
  const wanted = present === undefined ? null : new Set(present);
  const domain = INITS.filter((i) => (wanted === null ? DEFAULT_INITS.includes(i) : wanted.has(i)));
  return { domain: [...domain], range: domain.map((i) => INIT_COLORS[i].hex) };
}
