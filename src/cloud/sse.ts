// Server-side encryption of the objects the gateway writes, as AWS's gateways
// offer it: SSE-S3 (keys S3 manages) or SSE-KMS (a KMS key, by its ARN). S3
// takes it per request, on PutObject, CreateMultipartUpload and CopyObject
// (a copy is encrypted as its request says, not as its source was).

export type ServerSideEncryption = { readonly mode: 'SSE-S3' } | { readonly mode: 'SSE-KMS'; readonly kmsKeyArn: string };

/** The request fields that ask S3 for `sse`; none without it (the bucket's default applies). */
export function sseFields(sse: ServerSideEncryption | undefined): { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string } {
  if (!sse) return {};
  return sse.mode === 'SSE-S3' ? { ServerSideEncryption: 'AES256' } : { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: sse.kmsKeyArn };
}
