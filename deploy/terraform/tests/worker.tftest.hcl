# The worker module under a mocked AWS provider: autoscaling on queue backlog per task, with
# scale to zero allowed.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_resource "aws_appautoscaling_policy" {
    defaults = { arn = "arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:mock:resource/ecs/service/salon-test/salon-test-worker:policyName/mock" }
  }
}

variables {
  name               = "salon-test"
  vpc_id             = "vpc-0123"
  vpc_cidr_blocks    = ["10.40.0.0/16"]
  task_subnet_ids    = ["subnet-a", "subnet-b"]
  cluster_arn        = "arn:aws:ecs:eu-west-1:123456789012:cluster/salon-test"
  image              = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/salon:abc123"
  queue_name         = "salon-test-jobs"
  execution_role_arn = "arn:aws:iam::123456789012:role/exec"
  task_role_arn      = "arn:aws:iam::123456789012:role/worker"
  log_group_name     = "/salon/salon-test/worker"
  environment        = { SALON_QUEUE = "sqs" }
  secrets            = { SALON_DATABASE_URL = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db" }
}

run "scales_on_backlog_per_task_down_to_zero" {
  module {
    source = "./modules/worker"
  }

  command = apply

  assert {
    condition     = aws_appautoscaling_target.this.min_capacity == 0 && aws_appautoscaling_target.this.max_capacity == 10
    error_message = "The worker may scale to zero and up to max_count."
  }

  assert {
    condition     = aws_appautoscaling_target.this.resource_id == "service/salon-test/salon-test-worker"
    error_message = "Autoscaling targets the worker service in its cluster."
  }

  assert {
    condition     = aws_appautoscaling_policy.backlog.policy_type == "TargetTrackingScaling" && aws_appautoscaling_policy.backlog.target_tracking_scaling_policy_configuration[0].target_value == 10
    error_message = "Target tracking keeps backlog per task at the target."
  }

  assert {
    condition = anytrue([
      for m in aws_appautoscaling_policy.backlog.target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics :
      try(one(one(m.metric_stat).metric).metric_name, "") == "ApproximateNumberOfMessagesVisible" && contains(try([for d in one(one(m.metric_stat).metric).dimensions : d.value], []), "salon-test-jobs")
    ])
    error_message = "The scaling metric reads the job queue's visible messages."
  }

  assert {
    condition = anytrue([
      for m in aws_appautoscaling_policy.backlog.target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics :
      m.return_data && try(strcontains(m.expression, "visible /") && strcontains(m.expression, "running"), false)
    ])
    error_message = "The returned metric is visible messages divided by running tasks."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.wake.alarm_actions == toset([aws_appautoscaling_policy.wake.arn]) && aws_appautoscaling_policy.wake.step_scaling_policy_configuration[0].adjustment_type == "ChangeInCapacity"
    error_message = "Waiting work with zero workers starts one (never scales a busy service in)."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].command == ["salon", "worker"]
    error_message = "The worker runs `salon worker`."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.this.container_definitions)[0].secrets[0].name == "SALON_DATABASE_URL" && !anytrue([for e in jsondecode(aws_ecs_task_definition.this.container_definitions)[0].environment : e.name == "SALON_DATABASE_URL"])
    error_message = "The database URL arrives as an ECS secret, never as plain environment."
  }

  assert {
    condition     = one(aws_ecs_service.this.capacity_provider_strategy).capacity_provider == "FARGATE_SPOT"
    error_message = "Workers run on Fargate Spot by default."
  }
}

run "long_jobs_queue_counts_for_scaling" {
  module {
    source = "./modules/worker"
  }

  command = apply

  variables {
    long_queue_name = "salon-test-jobs-long"
  }

  assert {
    condition = anytrue([
      for m in aws_appautoscaling_policy.backlog.target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics :
      try(one(one(m.metric_stat).metric).metric_name, "") == "ApproximateNumberOfMessagesVisible" && contains(try([for d in one(one(m.metric_stat).metric).dimensions : d.value], []), "salon-test-jobs-long")
    ])
    error_message = "The scaling metric reads the long jobs' queue too."
  }

  assert {
    condition = anytrue([
      for m in aws_appautoscaling_policy.backlog.target_tracking_scaling_policy_configuration[0].customized_metric_specification[0].metrics :
      m.return_data && try(strcontains(m.expression, "(visible + visible_long) /"), false)
    ])
    error_message = "Backlog per task counts the messages of both queues."
  }

  assert {
    condition = anytrue([
      for q in aws_cloudwatch_metric_alarm.wake.metric_query :
      q.return_data == true && strcontains(coalesce(q.expression, "-"), "(visible + visible_long) > 0")
    ])
    error_message = "Videos waiting alone with zero workers start one."
  }
}

run "refuses_secrets_in_plain_environment" {
  module {
    source = "./modules/worker"
  }

  command = plan

  variables {
    environment = { SALON_SECRET_KEY = "oops" }
  }

  expect_failures = [var.environment]
}
