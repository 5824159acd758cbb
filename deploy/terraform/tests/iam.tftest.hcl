# The IAM module under a mocked AWS provider: task roles reach their bucket prefix and their
# queue, and nothing else.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

variables {
  name               = "salon-test"
  bucket_arn         = "arn:aws:s3:::salon-test-media"
  key_prefix         = "gallery/"
  queue_arn          = "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs"
  long_queue_arn     = "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs-long"
  dlq_arn            = "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs-dlq"
  kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/test"
  secret_arns        = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:salon-test/database-url-AbCdEf"]
  log_group_arns     = ["arn:aws:logs:eu-west-1:123456789012:log-group:/salon/salon-test/web"]
  ecr_repository_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/salon-test"
}

run "task_roles_scoped_to_bucket_prefix_and_queue" {
  module {
    source = "./modules/iam"
  }

  command = apply

  assert {
    condition = alltrue(flatten([
      for role, p in aws_iam_role_policy.task : [
        for s in jsondecode(p.policy).Statement :
        s.Effect == "Allow" && contains([
          "arn:aws:s3:::salon-test-media/gallery/*",
          "arn:aws:s3:::salon-test-media",
          "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs",
          "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs-long",
          "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs-dlq",
          "arn:aws:kms:eu-west-1:123456789012:key/test",
          "arn:aws:ecs:eu-west-1:123456789012:task/salon-test/*",
        ], s.Resource)
      ]
    ]))
    error_message = "A task role may only name its bucket prefix, its bucket (listing), its queues (and DLQ) and the bucket's key."
  }

  assert {
    condition = alltrue([
      for role in ["web", "worker"] : anytrue([
        for s in jsondecode(aws_iam_role_policy.task[role].policy).Statement :
        s.Resource == "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs-long" && contains(flatten([s.Action]), "sqs:SendMessage")
      ])
    ])
    error_message = "The web service queues videos in the long jobs' queue and the worker takes them from it."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.task["worker"].policy).Statement :
      s.Resource == "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs-long" && contains(flatten([s.Action]), "sqs:ReceiveMessage")
    ])
    error_message = "The worker's long slots receive from the long jobs' queue."
  }

  assert {
    condition = alltrue(flatten([
      for role, p in aws_iam_role_policy.task : [
        for s in jsondecode(p.policy).Statement :
        s.Resource != "arn:aws:s3:::salon-test-media" || try(s.Condition.StringLike["s3:prefix"], []) == ["gallery/*"]
      ]
    ]))
    error_message = "Listing the bucket is limited to the prefix."
  }

  assert {
    condition = alltrue(flatten([
      for role, p in aws_iam_role_policy.task : [
        for s in jsondecode(p.policy).Statement : alltrue([
          for a in flatten([s.Action]) : !strcontains(a, "*") && !startswith(a, "iam:") && !startswith(a, "secretsmanager:")
        ])
      ]
    ]))
    error_message = "No wildcard actions, no IAM, no secrets for the task roles."
  }

  assert {
    condition = alltrue(flatten([
      for role, p in aws_iam_role_policy.task : [
        for s in jsondecode(p.policy).Statement :
        !startswith(flatten([s.Action])[0], "kms:") || try(s.Condition.StringEquals["kms:ViaService"], "") == "s3.eu-west-1.amazonaws.com"
      ]
    ]))
    error_message = "The KMS key is usable by the tasks only through S3."
  }

  assert {
    condition = !anytrue([
      for s in jsondecode(aws_iam_role_policy.task["web"].policy).Statement :
      contains(flatten([s.Action]), "sqs:ReceiveMessage") || contains(flatten([s.Action]), "sqs:DeleteMessage")
    ])
    error_message = "The web service only sends jobs; consuming them is the worker's."
  }

  assert {
    condition = !anytrue([
      for s in jsondecode(aws_iam_role_policy.task["web"].policy).Statement : s.Resource == "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs-dlq"
    ])
    error_message = "Only the worker reads the dead-letter queue."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.task["worker"].policy).Statement :
      contains(s.Action, "sqs:ReceiveMessage") && contains(s.Action, "sqs:ChangeMessageVisibility") && s.Resource == "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs"
    ])
    error_message = "The worker consumes its queue (receive, heartbeat, delete)."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement :
      s.Resource != "*" || s.Action == ["ecr:GetAuthorizationToken"]
    ])
    error_message = "The execution role has no wildcard resource except ECR login (which IAM cannot scope)."
  }

  assert {
    condition     = aws_iam_role.execution.name != aws_iam_role.task["web"].name && aws_iam_role.execution.name != aws_iam_role.task["worker"].name
    error_message = "The execution role is separate from the task roles."
  }
}

run "only_the_worker_protects_its_tasks" {
  module {
    source = "./modules/iam"
  }

  command = apply

  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.task["worker"].policy).Statement :
      contains(flatten([s.Action]), "ecs:UpdateTaskProtection") && s.Resource == "arn:aws:ecs:eu-west-1:123456789012:task/salon-test/*"
    ])
    error_message = "The worker may protect its own cluster's tasks from scale-in during a job."
  }

  assert {
    condition = alltrue(flatten([
      for role in ["web", "ops"] : [
        for s in jsondecode(aws_iam_role_policy.task[role].policy).Statement :
        !contains(flatten([s.Action]), "ecs:UpdateTaskProtection")
      ]
    ]))
    error_message = "Only the worker changes task protection."
  }
}
