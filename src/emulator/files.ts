// The Files store: uploaded files and the Batch API's output/error files, with OpenAI's
// FileObject. Everything is held in memory as Buffers — fine for rehearsals, gone when the
// emulator stops.
import { newFileId } from './ids.ts';

export const UPLOAD_PURPOSES = ['batch', 'assistants', 'fine-tune', 'vision', 'user_data', 'evals'] as const;
export type UploadPurpose = (typeof UPLOAD_PURPOSES)[number];
export type FilePurpose = UploadPurpose | 'batch_output';

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  /** Unix seconds. */
  created_at: number;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  status_details: null;
  expires_at: null;
}

export interface StoredFile {
  file: FileObject;
  /** The content in chunks (a batch's output file is kept as its slices, never copied whole). */
  chunks: readonly Buffer[];
}

/** The whole content as one Buffer (a copy only when there are several chunks). */
export function contentOf(f: StoredFile): Buffer {
  return f.chunks.length === 1 ? f.chunks[0] : Buffer.concat(f.chunks);
}

export class FileStore {
  /** Insertion order = creation order. */
  private readonly files = new Map<string, StoredFile>();

  add(filename: string, purpose: FilePurpose, data: Buffer | readonly Buffer[]): FileObject {
    const chunks = Buffer.isBuffer(data) ? [data] : data;
    const file: FileObject = {
      id: newFileId(),
      object: 'file',
      bytes: chunks.reduce((n, c) => n + c.length, 0),
      created_at: Math.floor(Date.now() / 1000),
      filename,
      purpose,
      status: 'processed',
      status_details: null,
      expires_at: null,
    };
    this.files.set(file.id, { file, chunks });
    return file;
  }

  get(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  delete(id: string): boolean {
    return this.files.delete(id);
  }

  /** Every file, oldest first. */
  all(): FileObject[] {
    return [...this.files.values()].map((f) => ({ ...f.file }));
  }
}
