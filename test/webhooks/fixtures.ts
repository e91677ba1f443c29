/** Meta webhook payloads shaped like reference/cloud-api.md §6. */

export function statusPayload(statuses: Array<{ id: string; status: string; recipient?: string; errors?: unknown[] }>, phoneNumberId = '1001'): object {
  return {
    object: 'whatsapp_business_account',
    entry: [{
      id: 'WABA1',
      changes: [{
        field: 'messages',
        value: {
          messaging_product: 'whatsapp',
          metadata: { display_phone_number: '15550001001', phone_number_id: phoneNumberId },
          statuses: statuses.map((s) => ({
            id: s.id,
            status: s.status,
            timestamp: '1750030073',
            recipient_id: s.recipient ?? '16505551234',
            pricing: { billable: true, pricing_model: 'PMP', type: 'regular', category: 'marketing' },
            ...(s.errors ? { errors: s.errors } : {}),
          })),
        },
      }],
    }],
  };
}

export function inboundPayload(messages: Array<{ id: string; from?: string; body: string }>, phoneNumberId = '1001'): object {
  return {
    object: 'whatsapp_business_account',
    entry: [{
      id: 'WABA1',
      changes: [{
        field: 'messages',
        value: {
          messaging_product: 'whatsapp',
          metadata: { display_phone_number: '15550001001', phone_number_id: phoneNumberId },
          contacts: [{ profile: { name: 'Zoë' }, wa_id: '16505551234' }],
          messages: messages.map((m) => ({ from: m.from ?? '16505551234', id: m.id, timestamp: '1749416383', type: 'text', text: { body: m.body } })),
        },
      }],
    }],
  };
}
