"""The county's service catalogue (事项目录) with each item's 办事指南: what can be done, what it needs, how long
it may take by law and by promise. The queue, the cases, the kiosk's guide and the reports all read it here."""
