# Media bucket: private, encrypted with the stack's KMS key, versioned (an accidental delete can
# be undone for noncurrent_version_days), with a lifecycle that removes abandoned direct uploads,
# CORS for browser POSTs, and "object created" events under the upload prefix sent to the job
# queue so an upload is processed even when the browser never calls /complete.

locals {
  tags          = merge(var.tags, { "salon:module" = "storage" })
  upload_prefix = "${var.key_prefix}${var.upload_prefix}"
}

resource "aws_s3_bucket" "media" {
  #checkov:skip=CKV_AWS_144:Renditions can be rebuilt and originals are versioned; cross-region replication doubles storage cost and is left to the operator.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket                  = aws_s3_bucket.media.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "media" {
  bucket = aws_s3_bucket.media.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.sse_algorithm
      kms_master_key_id = var.sse_algorithm == "aws:kms" ? var.kms_key_arn : null
    }
    bucket_key_enabled = var.sse_algorithm == "aws:kms"
  }

  lifecycle {
    precondition {
      condition     = var.sse_algorithm != "aws:kms" || var.kms_key_arn != null
      error_message = "sse_algorithm = \"aws:kms\" needs kms_key_arn."
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    id     = "abort-incomplete-multipart"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-abandoned-direct-uploads"
    status = "Enabled"
    filter {
      prefix = local.upload_prefix
    }
    expiration {
      days = var.abandoned_upload_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.media]
}

resource "aws_s3_bucket_cors_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  # Direct upload: the browser POSTs the presigned form; it never needs PUT or DELETE.
  cors_rule {
    allowed_methods = ["POST"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["*"]
    expose_headers  = ["ETag", "Location"]
    max_age_seconds = 3000
  }

  # Presigned GET redirects for originals, renditions and videos (e.g. fetched by the UI).
  cors_rule {
    allowed_methods = ["GET", "HEAD"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["Range"]
    expose_headers  = ["Content-Length", "Content-Range", "ETag"]
    max_age_seconds = 3000
  }
}

resource "aws_s3_bucket_logging" "media" {
  bucket        = aws_s3_bucket.media.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${var.bucket_name}/"
}

resource "aws_s3_bucket_policy" "media" {
  bucket = aws_s3_bucket.media.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.media.arn, "${aws_s3_bucket.media.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }],
      var.cloudfront_enabled ? [{
        Sid       = "CloudFrontReadsRenditionsOnly"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = "s3:GetObject"
        Resource  = "${aws_s3_bucket.media.arn}/${var.key_prefix}${var.cloudfront_path_prefix}*"
        Condition = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.this[0].arn } }
      }] : [],
    )
  })

  depends_on = [aws_s3_bucket_public_access_block.media]
}

resource "aws_s3_bucket_notification" "media" {
  count = var.upload_notification_enabled ? 1 : 0

  bucket = aws_s3_bucket.media.id

  queue {
    id            = "salon-direct-uploads"
    queue_arn     = var.notification_queue_arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = local.upload_prefix
  }

  lifecycle {
    precondition {
      condition     = var.notification_queue_arn != null
      error_message = "upload_notification_enabled needs notification_queue_arn."
    }
  }
}

# --- Access-log bucket: S3 server access logging can only write SSE-S3 objects. ---

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_144:Access logs are operational data; replicating them is not worth the cost.
  #checkov:skip=CKV_AWS_145:S3 server access logging only delivers to buckets encrypted with SSE-S3, not SSE-KMS.
  #checkov:skip=CKV_AWS_18:This is the access-log bucket itself; logging it would recurse.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events about log objects.
  #checkov:skip=CKV_AWS_21:Log objects are written once and expire; versioning them only adds cost.
  bucket        = "${var.bucket_name}-logs"
  force_destroy = var.force_destroy
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_caller_identity" "current" {}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "S3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/s3/*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = aws_s3_bucket.media.arn }
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

# --- Optional CloudFront in front of the renditions. ---
# Renditions of private photos must stay private, so the distribution trusts one key group and
# refuses unsigned requests: Salon signs each rendition URL (SALON_S3_CLOUDFRONT_*) with the
# private key, for as long as it would presign an S3 URL. The public keys come in as PEM, by
# name: the key group trusts all of them, so a new pair can be trusted before Salon signs with
# it and the old one removed after the URLs signed with it have expired (rotation).

locals {
  cloudfront_keys = var.cloudfront_enabled ? var.cloudfront_public_keys : {}
  # The key Salon signs with: the one named, or the only one.
  cloudfront_signing_key = var.cloudfront_signing_key != null ? var.cloudfront_signing_key : (
    length(var.cloudfront_public_keys) == 1 ? one(keys(var.cloudfront_public_keys)) : null
  )
}

resource "aws_cloudfront_public_key" "this" {
  for_each = local.cloudfront_keys

  # Named after the map key: a new pair is a new key beside the old one, never a replacement
  # under the same name (CloudFront key names are unique per account).
  name        = "${replace(var.bucket_name, ".", "-")}-urls-${each.key}"
  comment     = "Salon rendition URLs, key ${each.key}"
  encoded_key = each.value

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudfront_key_group" "this" {
  count = var.cloudfront_enabled ? 1 : 0

  name    = "${replace(var.bucket_name, ".", "-")}-urls"
  comment = "Keys Salon signs rendition URLs with"
  items   = [for name in sort(keys(aws_cloudfront_public_key.this)) : aws_cloudfront_public_key.this[name].id]

  lifecycle {
    precondition {
      condition     = length(var.cloudfront_public_keys) > 0
      error_message = "cloudfront_enabled needs cloudfront_public_keys (the distribution only serves signed URLs)."
    }
    precondition {
      condition     = local.cloudfront_signing_key != null && contains(keys(var.cloudfront_public_keys), coalesce(local.cloudfront_signing_key, "-"))
      error_message = "cloudfront_signing_key must name one of cloudfront_public_keys (required when there are several)."
    }
  }
}

resource "aws_cloudfront_origin_access_control" "this" {
  count = var.cloudfront_enabled ? 1 : 0

  name                              = var.bucket_name
  description                       = "Salon renditions from ${var.bucket_name}"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "this" {
  count = var.cloudfront_enabled ? 1 : 0

  name = "${replace(var.bucket_name, ".", "-")}-security-headers"

  security_headers_config {
    content_type_options {
      override = true
    }
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      override                   = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  count = var.cloudfront_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_68:Serves only signed-URL rendition images from a private bucket; a WAF web ACL (~$6/month minimum) is left to the operator.
  #checkov:skip=CKV2_AWS_47:No WAF is attached (see CKV_AWS_68), and no Java runs behind it.
  #checkov:skip=CKV_AWS_86:CloudFront standard logs need an ACL-enabled bucket, which this stack does not create; enable real-time logs if needed.
  #checkov:skip=CKV_AWS_310:A single S3 origin; S3 is regional-HA and renditions can be rebuilt.
  #checkov:skip=CKV_AWS_374:A photo gallery is served worldwide; geo restriction is a business decision.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate is used; its TLS policy is set by AWS. Attach an ACM certificate with TLSv1.2_2021 for a custom domain.
  #checkov:skip=CKV2_AWS_42:Uses the default *.cloudfront.net certificate (see CKV_AWS_174).
  enabled         = true
  is_ipv6_enabled = true
  comment         = "Salon renditions"
  price_class     = var.cloudfront_price_class

  origin {
    origin_id                = "media"
    domain_name              = aws_s3_bucket.media.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.this[0].id
  }

  default_cache_behavior {
    target_origin_id           = "media"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = "658327ea-f89d-4fab-a63d-7e88639e58f6" # Managed-CachingOptimized
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this[0].id
    # Only URLs signed by Salon: a rendition is as private as the photo it shows.
    trusted_key_groups = [aws_cloudfront_key_group.this[0].id]
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }

  tags = local.tags
}
