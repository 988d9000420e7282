"""Marketing campaigns: what a campaign is (spec), reading its file (loader), who it reaches
(segment), when it runs (schedule), which variant a customer gets (variants) and how its
message is rendered (message). Plain code; lifecycle does the storing."""
