"""The county network (县-镇-村 三级联动): its sites, their rosters and the rules the hub holds them to."""
