/**
 * A byte stream of unknown length into one R2 object, in bounded memory: R2's `put` needs a known
 * length for a stream, so the bytes go up as a multipart upload instead, in parts of PART_BYTES
 * (R2 wants every part but the last at least 5 MiB and all of one size), one part in memory at a
 * time. The object's sha256 is computed on the way (DigestStream), so nothing is read back.
 */

/** R2's smallest part: every part but the last is exactly this size. */
export const PART_BYTES = 5 * 1024 * 1024;

export interface Uploaded {
  bytes: number;
  /** Lowercase hex SHA-256 of the object's bytes. */
  sha256: string;
  parts: number;
}

/**
 * Uploads `body` to `key` part by part; on any failure the upload is aborted (no partial object
 * appears) and the error rethrown.
 *
 * @example
 *   const { bytes, sha256 } = await uploadStream(env.MODELS, "exports/2026-12-01/scores.csv.gz", csv.pipeThrough(new CompressionStream("gzip")));
 */
export async function uploadStream(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>, options: R2MultipartOptions = {}, partBytes = PART_BYTES): Promise<Uploaded> {
  const upload = await bucket.createMultipartUpload(key, options);
  const digest = new crypto.DigestStream("SHA-256");
  const hashing = digest.getWriter();
  const reader = body.getReader();
  const parts: R2UploadedPart[] = [];
  let part = new Uint8Array(partBytes);
  let filled = 0;
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await hashing.write(value);
      bytes += value.byteLength;
      for (let at = 0; at < value.byteLength; ) {
        const n = Math.min(partBytes - filled, value.byteLength - at);
        part.set(value.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === partBytes) {
          parts.push(await upload.uploadPart(parts.length + 1, part));
          part = new Uint8Array(partBytes);
          filled = 0;
        }
      }
    }
    if (filled > 0 || parts.length === 0) parts.push(await upload.uploadPart(parts.length + 1, part.subarray(0, filled)));
    await upload.complete(parts);
  } catch (err) {
    await reader.cancel().catch(() => {});
    await upload.abort().catch(() => {});
    throw err;
  }
  await hashing.close();
  const sha256 = [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { bytes, sha256, parts: parts.length };
}
