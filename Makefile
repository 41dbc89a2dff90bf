# o2o_route — PGXS build, plus the project's own targets (demo, test, bench,
# fuzz, soak, valgrind, map, start, stop, env)

EXTENSION    = o2o_route
EXTVERSION   = $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big   = o2o_route
OBJS         = src/o2o_route.o src/version.o src/guc.o src/geom.o src/gridindex.o src/grid.o \
			   src/candidates.o src/score.o src/rank.o src/reserve.o src/explain.o src/assign.o \
			   src/orderstate.o src/orient.o src/agg.o src/price.o src/cache.o src/dealercache.o src/probe.o \
			   src/triggers.o src/shcache.o src/ledger.o src/promise.o src/tracking.o

# The install script of the current version is built from one hand-written
# source, split by concern (sql/src/NN-*.sql, joined in name order).  Beside
# it stay the frozen oldest full script (the upgrade test's base) and every
# upgrade script.
SQL_SRC      = $(sort $(wildcard sql/src/*.sql))
DATA_built   = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA         = sql/$(EXTENSION)--0.1.0.sql $(wildcard sql/$(EXTENSION)--*--*.sql)

# Every regression test stands alone: each creates the extension itself.
REGRESS      = init version model worldgen grid grid_stress caches coverage assign lifecycle privileges security routing agg pricing inventory promise tracking
REGRESS_OPTS = --inputdir=test --load-extension=plpgsql
ISOLATION    = last_unit one_active grid_invalidation shared_publish dealer_cache assign_race lifecycle_race price_change stock_sync_last_unit stock_sync_shortfall stock_sync_twice stock_sync_full_race stock_sync_crossing hold_last_unit hold_expire_take progress_race capacity_cut_race book_slot_order events_notify
ISOLATION_OPTS = --inputdir=test

PG_CPPFLAGS  = -DO2O_ROUTE_VERSION=\"$(EXTVERSION)\"

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
# no server headers yet: only the project targets below work (they install them)
all install installcheck:
	@echo "PostgreSQL server development files are missing (or PG_CONFIG=$(PG_CONFIG) is wrong): run 'make demo' or 'make test', which install them" >&2; exit 1
else
include $(PGXS)
endif

$(DATA_built): $(SQL_SRC) $(EXTENSION).control
	cat $(SQL_SRC) > $@

src/version.o: $(EXTENSION).control
$(OBJS): $(wildcard src/*.h)

.PHONY: demo test bench fuzz soak valgrind start stop env map
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
bench:
	bash bench/bench.sh
fuzz:
	bash test/fuzz/fuzz.sh --setup
soak:
	bash test/cluster/soak.sh --setup
valgrind:
	bash scripts/valgrind.sh
map:
	bash scripts/deps.sh
	bash scripts/map.sh
start:
	bash scripts/cluster.sh start
stop:
	bash scripts/cluster.sh stop
env:
	@bash scripts/cluster.sh env

# packages: the Debian package (debian/, pg_buildext) and the PGXN zip (META.json)
.PHONY: deb dist
deb:
	bash scripts/deb.sh
dist:
	bash scripts/dist.sh
