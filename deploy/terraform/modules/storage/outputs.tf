output "bucket_name" {
  description = "Name of the media bucket (SALON_S3_BUCKET)."
  value       = aws_s3_bucket.media.id
}

output "bucket_arn" {
  description = "ARN of the media bucket."
  value       = aws_s3_bucket.media.arn
}

output "key_prefix" {
  description = "Key prefix Salon writes under (SALON_S3_PREFIX)."
  value       = var.key_prefix
}

output "upload_prefix" {
  description = "Full key prefix of direct uploads (the notification and lifecycle filter)."
  value       = local.upload_prefix
}

output "log_bucket_name" {
  description = "Bucket receiving S3 server access logs."
  value       = aws_s3_bucket.logs.id
}

output "cloudfront_domain_name" {
  description = "Domain of the CloudFront distribution, or null when disabled."
  value       = try(aws_cloudfront_distribution.this[0].domain_name, null)
}

output "cloudfront_key_id" {
  description = "ID of the CloudFront public key Salon's signed URLs name (cloudfront_signing_key's: SALON_S3_CLOUDFRONT_KEY_ID), or null when disabled."
  value       = try(aws_cloudfront_public_key.this[local.cloudfront_signing_key].id, null)
}
