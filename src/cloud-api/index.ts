/** The Cloud API's send surface as both the gateway and the simulator see it. */
export { validateMessageBody, isMarkRead, messageType, type MessageBody, type BodyProblem } from './validate.js';
export { waIdOf } from './wa-id.js';
export { toE164Digits, E164_MIN_DIGITS, E164_MAX_DIGITS } from './e164.js';
export { isTemplate, isTemplateText, messageCategory, type MessageCategory } from './category.js';
export { metaError, metaErrorSpec, newFbtraceId, META_ERRORS, type MetaErrorSpec } from './meta-errors.js';
