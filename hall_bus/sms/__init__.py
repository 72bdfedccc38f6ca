"""SMS to visitors: appointment reminders (预约提醒) and booking notices, sent through a provider's templates.

`gateway` is the interface, `templates` the words, `simulator` the gateway of tests and the demo, `aliyun` the
one real provider, `settings` what the hall file says, `reminders` who is due a reminder and when.
"""
