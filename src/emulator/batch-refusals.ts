// A fault that makes the Files and Batches APIs refuse chosen requests with a 400, as OpenAI
// refuses a batch input file or a batch it will not take (an ErrorResponse `{error: {message,
// type, param, code}}`, openapi.yaml components/schemas/ErrorResponse). Deterministic: the
// Nth `purpose=batch` upload that passed the upload checks, and the Nth POST /v1/batches,
// counted from the emulator's start or from the last configure() that set the list.
import { invalidRequest, type ErrorAnswer } from './errors.ts';

export interface RefusalOptions {
  /** 1-based ordinals of the batch input uploads to refuse with 400. */
  refuseUploads: number[];
  /** 1-based ordinals of the batch creations to refuse with 400. */
  refuseBatchCreates: number[];
}

export class BatchRefusals {
  private uploads = 0;
  private creates = 0;

  /** A new list of ordinals counts again from 1. */
  restart(which: 'uploads' | 'creates'): void {
    if (which === 'uploads') this.uploads = 0;
    else this.creates = 0;
  }

  /** Called for every batch input upload that passed its checks: the refusal, or undefined to store it. */
  upload(opts: RefusalOptions): ErrorAnswer | undefined {
    const n = ++this.uploads;
    if (!opts.refuseUploads.includes(n)) return undefined;
    return invalidRequest(`Invalid file: the batch input file (upload ${n}) was refused by the server's validation and was not stored.`, 'file', 'invalid_file');
  }

  /** Called for every POST /v1/batches: the refusal, or undefined to go on. */
  create(opts: RefusalOptions, inputFileId: string | undefined): ErrorAnswer | undefined {
    const n = ++this.creates;
    if (!opts.refuseBatchCreates.includes(n)) return undefined;
    return invalidRequest(`The batch (create ${n}) for input file ${inputFileId ?? '(none)'} was refused by the server's validation.`, 'input_file_id', 'invalid_request');
  }
}
