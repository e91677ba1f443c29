/** The body the crash child stores for an id: a function of the id, so the parent can check the bytes. */
export function bodyFor(id: string): string {
  return JSON.stringify({ messaging_product: 'whatsapp', to: '15550001111', type: 'text', text: { body: `crash ${id}` } });
}
