"""`careloop playground`: the sandbox Telegram with customers, a staff group and a community
group, careloop running against it, and a web page on loopback where a person plays any of
them, moves the clock, reports events and previews campaigns.

- ``scene``: who is there and what each of them can do (on the demo's stage);
- ``view``: the chats as the page draws them, from the sandbox's own record;
- ``labels``: the page's texts, translated;
- ``web``: the page and its small JSON API; ``serve``: the command's start and stop.
"""
