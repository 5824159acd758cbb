# The monitoring module under a mocked AWS provider: each alarm watches the right metric of the
# right resource and notifies the alarm topic, and the dashboard shows the same signals.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

variables {
  name                     = "salon-test"
  alarm_topic_arn          = "arn:aws:sns:eu-west-1:123456789012:salon-test-alarms"
  load_balancer_arn_suffix = "app/salon-test/0123"
  target_group_arn_suffix  = "targetgroup/salon-test/4567"
  cluster_name             = "salon-test"
  web_service_name         = "salon-test-web"
  web_min_count            = 2
  worker_service_name      = "salon-test-worker"
  queue_name               = "salon-test-jobs"
  db_instance_id           = "salon-test"
}

run "alarms_watch_the_right_resources" {
  module {
    source = "./modules/monitoring"
  }

  command = apply

  assert {
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.this :
      a.alarm_actions == toset([var.alarm_topic_arn]) && a.ok_actions == toset([var.alarm_topic_arn])
    ])
    error_message = "Every alarm and its recovery go to the alarm topic."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["unhealthy-targets"].dimensions.TargetGroup == "targetgroup/salon-test/4567" && aws_cloudwatch_metric_alarm.this["alb-target-5xx"].metric_name == "HTTPCode_Target_5XX_Count"
    error_message = "The ALB alarms watch this deployment's load balancer and target group."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["web-running-below-desired"].threshold == 2 && aws_cloudwatch_metric_alarm.this["web-running-below-desired"].comparison_operator == "LessThanThreshold" && aws_cloudwatch_metric_alarm.this["web-running-below-desired"].treat_missing_data == "breaching"
    error_message = "Fewer running web tasks than the minimum (or no data at all) alarms."
  }

  assert {
    condition     = alltrue([for k in ["db-cpu", "db-free-storage", "db-connections"] : aws_cloudwatch_metric_alarm.this[k].dimensions.DBInstanceIdentifier == "salon-test"])
    error_message = "The database alarms watch this deployment's RDS instance."
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) == 7
    error_message = "The dashboard shows requests, latency, tasks, queue, dead letters and database."
  }

  assert {
    condition = anytrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      anytrue([for m in w.properties.metrics : m[0] == "AWS/SQS" && m[1] == "ApproximateNumberOfMessagesVisible" && m[3] == "salon-test-jobs-dlq"])
    ])
    error_message = "The dashboard shows the dead-letter queue's depth (the default <queue_name>-dlq)."
  }
}

run "dashboard_names_the_given_dlq" {
  module {
    source = "./modules/monitoring"
  }

  command = apply

  variables {
    dlq_name = "elsewhere-dead"
  }

  assert {
    condition = anytrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      anytrue([for m in w.properties.metrics : m[3] == "elsewhere-dead"])
    ])
    error_message = "The dashboard's DLQ widget watches the dead-letter queue it is given."
  }
}
