"""Built-in plugins of Común CMS: criteria, stl_minutes, action_plans, notary."""
