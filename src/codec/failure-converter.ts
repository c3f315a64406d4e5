// Loaded by path (DataConverter.failureConverterPath) in workers, clients and the workflow
// bundle when encryption is on: a failure's message and stack trace move into its encoded
// attributes, a payload, so the codec encrypts them like any other payload.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
