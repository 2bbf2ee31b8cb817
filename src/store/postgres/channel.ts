/** The LISTEN/NOTIFY channel of every change (listener.ts parses the payloads, the writers send them). */
export const CHANNEL = 'rbm_changes';
