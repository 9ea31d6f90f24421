// The settings panel: its values (kept in localStorage) and the request fields they become.
import type { ChatCompletionRequest } from '../src/api/types.js';

export interface Settings {
  systemPrompt: string;
  temperature: number;
  topP: number;
  maxTokens: number;
  thinking: boolean;
  jsonMode: boolean;
  /** Empty: a random seed each time. */
  seed: string;
  /** Routed experts kept on the GPU per MoE layer ("6") or a share ("25%"); empty: automatic. Applies at the next model load. */
  gpuExperts: string;
}

export const DEFAULT_SETTINGS: Settings = { systemPrompt: 'You are a helpful assistant.', temperature: 0.8, topP: 0.95, maxTokens: 64, thinking: false, jsonMode: false, seed: '', gpuExperts: '' };
const KEY = 'ernie-demo-settings';

export function loadSettings(): Settings {
  try {
    return { ...DEFAULT_SETTINGS, ...(JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Settings>) };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function saveSettings(s: Settings): void {
  localStorage.setItem(KEY, JSON.stringify(s));
}

/** The request fields the settings set (messages and streaming are the caller's). */
export function requestFields(s: Settings): Partial<ChatCompletionRequest> {
  const seed = s.seed.trim() === '' ? undefined : Number(s.seed);
  return {
    temperature: s.temperature,
    top_p: s.topP,
    max_tokens: s.maxTokens,
    enable_thinking: s.thinking,
    ...(s.jsonMode ? { response_format: { type: 'json_object' as const } } : {}),
    ...(seed !== undefined && Number.isSafeInteger(seed) ? { seed } : {}),
  };
}

/** The load options' expert cache for the GPU expert budget setting (undefined: automatic). */
export function expertCacheOption(s: Settings): { gpuExperts: number | string } | undefined {
  const v = s.gpuExperts.trim();
  if (/^\d+$/.test(v) && Number(v) > 0) return { gpuExperts: Number(v) };
  if (/^\d+(\.\d+)?%$/.test(v) && parseFloat(v) > 0) return { gpuExperts: v };
  return undefined;
}

/** Binds the panel's inputs (ids set-*) to the settings: every change is saved and reported. */
export function bindSettingsForm(form: HTMLFormElement, onChange: (s: Settings) => void): Settings {
  const s = loadSettings();
  const el = <T extends HTMLInputElement | HTMLTextAreaElement>(id: string) => form.querySelector<T>(`#${id}`)!;
  el<HTMLTextAreaElement>('set-system').value = s.systemPrompt;
  el('set-temperature').value = String(s.temperature);
  el('set-top-p').value = String(s.topP);
  el('set-max-tokens').value = String(s.maxTokens);
  el<HTMLInputElement>('set-thinking').checked = s.thinking;
  el<HTMLInputElement>('set-json').checked = s.jsonMode;
  el('set-seed').value = s.seed;
  el('set-gpu-experts').value = s.gpuExperts;
  const num = (id: string, fallback: number) => {
    const v = Number(el(id).value);
    return Number.isFinite(v) && el(id).value !== '' ? v : fallback;
  };
  form.addEventListener('input', () => {
    s.systemPrompt = el<HTMLTextAreaElement>('set-system').value;
    s.temperature = num('set-temperature', DEFAULT_SETTINGS.temperature);
    s.topP = num('set-top-p', DEFAULT_SETTINGS.topP);
    s.maxTokens = Math.max(1, Math.round(num('set-max-tokens', DEFAULT_SETTINGS.maxTokens)));
    s.thinking = el<HTMLInputElement>('set-thinking').checked;
    s.jsonMode = el<HTMLInputElement>('set-json').checked;
    s.seed = el('set-seed').value;
    s.gpuExperts = el('set-gpu-experts').value;
    saveSettings(s);
    onChange(s);
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  return s;
}
