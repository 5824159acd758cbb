# The storage module under a mocked AWS provider: nothing is created, nothing is reached.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::salon-test-media" }
  }
}

variables {
  bucket_name            = "salon-test-media"
  key_prefix             = "gallery/"
  cors_allowed_origins   = ["https://photos.example.com"]
  kms_key_arn            = "arn:aws:kms:eu-west-1:123456789012:key/test"
  notification_queue_arn = "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs"
  cloudfront_enabled     = true
  cloudfront_public_keys = {
    "2026-12" = <<-EOT
      -----BEGIN PUBLIC KEY-----
      MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtestkey
      -----END PUBLIC KEY-----
    EOT
  }
}

run "bucket_is_private_and_encrypted" {
  module {
    source = "./modules/storage"
  }

  command = apply

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.media.block_public_acls,
      aws_s3_bucket_public_access_block.media.block_public_policy,
      aws_s3_bucket_public_access_block.media.ignore_public_acls,
      aws_s3_bucket_public_access_block.media.restrict_public_buckets,
      aws_s3_bucket_public_access_block.logs.block_public_policy,
      aws_s3_bucket_public_access_block.logs.restrict_public_buckets,
    ])
    error_message = "No bucket may be public: every public access block flag is on."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.media.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are disabled, so no object can be made public by ACL."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_s3_bucket_policy.media.policy).Statement :
      s.Effect == "Deny" || try(s.Principal.Service, "") == "cloudfront.amazonaws.com"
    ])
    error_message = "The bucket policy grants nothing to anyone but CloudFront (which reads through OAC)."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_s3_bucket_policy.media.policy).Statement :
      s.Effect == "Allow" && s.Resource == "arn:aws:s3:::salon-test-media/gallery/renditions/*"
    ])
    error_message = "CloudFront may read renditions only, not originals."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.media.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "Media is encrypted with the stack's KMS key."
  }

  assert {
    condition     = aws_s3_bucket_versioning.media.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning protects against accidental deletes."
  }
}

run "uploads_notify_the_queue_and_expire" {
  module {
    source = "./modules/storage"
  }

  command = apply

  assert {
    condition     = aws_s3_bucket_notification.media[0].queue[0].filter_prefix == "gallery/uploads/" && aws_s3_bucket_notification.media[0].queue[0].queue_arn == "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs"
    error_message = "Objects created under the upload prefix must be announced to the job queue."
  }

  assert {
    condition     = contains(aws_s3_bucket_notification.media[0].queue[0].events, "s3:ObjectCreated:*")
    error_message = "Every way of creating an object (POST, PUT, multipart) triggers the event."
  }

  assert {
    condition = anytrue([
      for r in aws_s3_bucket_lifecycle_configuration.media.rule :
      r.status == "Enabled" && try(r.filter[0].prefix, "") == "gallery/uploads/" && try(r.expiration[0].days, 0) == 2
    ])
    error_message = "Abandoned direct uploads expire."
  }

  assert {
    condition = anytrue([
      for r in aws_s3_bucket_lifecycle_configuration.media.rule :
      try(r.abort_incomplete_multipart_upload[0].days_after_initiation, 0) == 1
    ])
    error_message = "Incomplete multipart uploads are aborted."
  }

  assert {
    condition = alltrue([
      for r in aws_s3_bucket_cors_configuration.media.cors_rule : toset(r.allowed_origins) == toset(["https://photos.example.com"])
    ])
    error_message = "CORS admits the gallery's origin only."
  }
}

run "rejects_wildcard_cors_and_bad_prefix" {
  module {
    source = "./modules/storage"
  }

  command = plan

  variables {
    cors_allowed_origins = ["*"]
    key_prefix           = "/gallery"
  }

  expect_failures = [var.cors_allowed_origins, var.key_prefix]
}

run "cloudfront_serves_only_signed_urls" {
  module {
    source = "./modules/storage"
  }

  command = apply

  assert {
    condition     = one(aws_cloudfront_distribution.this[0].default_cache_behavior).trusted_key_groups == tolist([aws_cloudfront_key_group.this[0].id])
    error_message = "The distribution must refuse unsigned requests: renditions of private photos are private."
  }

  assert {
    condition     = aws_cloudfront_key_group.this[0].items == toset([aws_cloudfront_public_key.this["2026-12"].id]) && output.cloudfront_key_id == aws_cloudfront_public_key.this["2026-12"].id
    error_message = "The key group trusts exactly the public key whose id Salon's URLs name (the only one, without cloudfront_signing_key)."
  }

  assert {
    condition     = startswith(aws_cloudfront_public_key.this["2026-12"].encoded_key, "-----BEGIN PUBLIC KEY-----")
    error_message = "The public key is passed through as PEM."
  }
}

# Rotation: the new pair is trusted beside the old one, and Salon signs with the one named.
run "cloudfront_rotation_trusts_both_keys_and_signs_with_the_named_one" {
  module {
    source = "./modules/storage"
  }

  command = apply

  variables {
    cloudfront_public_keys = {
      "2026-12" = <<-EOT
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtestkey
        -----END PUBLIC KEY-----
      EOT
      "2027-06" = <<-EOT
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnewkey
        -----END PUBLIC KEY-----
      EOT
    }
    cloudfront_signing_key = "2027-06"
  }

  assert {
    condition     = aws_cloudfront_key_group.this[0].items == toset([aws_cloudfront_public_key.this["2026-12"].id, aws_cloudfront_public_key.this["2027-06"].id])
    error_message = "During a rotation the key group trusts the old and the new key: URLs signed with either stay valid."
  }

  assert {
    condition     = output.cloudfront_key_id == aws_cloudfront_public_key.this["2027-06"].id && output.cloudfront_key_id != aws_cloudfront_public_key.this["2026-12"].id
    error_message = "SALON_S3_CLOUDFRONT_KEY_ID is the id of the key named by cloudfront_signing_key."
  }

  assert {
    condition     = aws_cloudfront_public_key.this["2026-12"].name != aws_cloudfront_public_key.this["2027-06"].name
    error_message = "Each key has a name of its own (CloudFront key names are unique per account)."
  }
}

run "cloudfront_with_several_keys_needs_a_signing_key" {
  module {
    source = "./modules/storage"
  }

  command = plan

  variables {
    cloudfront_public_keys = {
      "a" = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
      "b" = "-----BEGIN PUBLIC KEY-----\nBBBB\n-----END PUBLIC KEY-----\n"
    }
  }

  expect_failures = [aws_cloudfront_key_group.this]
}

run "cloudfront_needs_a_public_key" {
  module {
    source = "./modules/storage"
  }

  command = plan

  variables {
    cloudfront_public_keys = {}
  }

  expect_failures = [aws_cloudfront_key_group.this]
}
