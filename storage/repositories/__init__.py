"""One repository module per aggregate. Repositories query and add; none commits: the unit
of work (careloop.storage.uow) is the only thing that does."""
