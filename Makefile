# o2o_route — PGXS build, plus the project's own targets (demo, test, bench, start, stop)

EXTENSION    = o2o_route
EXTVERSION   = $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big   = o2o_route
OBJS         = src/o2o_route.o src/version.o src/guc.o src/geom.o src/gridindex.o src/grid.o src/candidates.o src/score.o src/rank.o src/reserve.o src/explain.o src/assign.o src/agg.o src/price.o src/cache.o src/dealercache.o src/probe.o src/triggers.o

# install scripts live under sql/ but are not regression tests
DATA         = $(wildcard sql/$(EXTENSION)--*.sql)

REGRESS      = init version model worldgen grid coverage assign routing agg pricing
REGRESS_OPTS = --inputdir=. --load-extension=plpgsql
ISOLATION    = last_unit one_active grid_invalidation dealer_cache assign_race lifecycle_race price_change
ISOLATION_OPTS = --inputdir=test

PG_CPPFLAGS  = -DO2O_ROUTE_VERSION=\"$(EXTVERSION)\"

PG_CONFIG   ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS        := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
# no server headers yet: only the project targets below work (they install them)
all install installcheck:
	@echo "PostgreSQL server development files are missing: run 'make demo' or 'make test', which install them" >&2; exit 1
else
include $(PGXS)
endif

src/version.o: $(EXTENSION).control
$(OBJS): $(wildcard src/*.h)

.PHONY: demo test bench start stop
demo:
	bash test/demo.sh
test:
	bash test/run_tests.sh
bench:
	bash test/bench.sh
start:
	bash test/cluster.sh start
stop:
	bash test/cluster.sh stop
