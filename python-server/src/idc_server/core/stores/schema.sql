-- idc's PostgreSQL layout (decision 0023). `idc-server load` runs this file
-- before loading, so it is idempotent; operators may also run it with psql.
-- The same tables work on TimescaleDB (not tested here): make idc_bars a
-- hypertable with SELECT create_hypertable('idc_bars', by_range('ts')); its
-- primary key already contains ts. Hypertables refuse the statement-level
-- triggers below (transition tables): there, writers other than the loader
-- bump idc_symbols.version themselves, and the server also sees new or
-- removed bars through its count and last timestamp.

-- One row per symbol: how to read its bars.
CREATE TABLE IF NOT EXISTS idc_symbols (
    symbol text PRIMARY KEY CHECK (symbol <> ''),
    -- IANA name of the exchange's time zone; a daily bar starts at 00:00 there.
    time_zone text NOT NULL DEFAULT 'UTC',
    -- The stored bar length, named as in a data folder's symbols.toml.
    bar_interval text NOT NULL DEFAULT '1d'
        CHECK (bar_interval IN ('1min', '5min', '15min', '30min', '60min', '1d', '1w', '1mo')),
    -- Trading sessions in local time, e.g. '{09:30-11:30,13:00-15:00}'; NULL: the whole day.
    -- Intraday resampling respects them.
    sessions text[],
    -- How the stored prices are adjusted; NULL: not declared.
    price_adjustment text
        CHECK (price_adjustment IN ('none', 'splits', 'splits_and_dividends', 'not_needed')),
    -- Bumped by every change to the symbol's bars (loader, triggers): the server's cache key.
    version bigint NOT NULL DEFAULT 0
);

-- One row per bar. The primary key (symbol, ts) makes a symbol's window an
-- index range scan and forbids two bars at one time.
CREATE TABLE IF NOT EXISTS idc_bars (
    symbol text NOT NULL REFERENCES idc_symbols (symbol) ON DELETE CASCADE,
    -- The bar's start (a daily bar: 00:00 of its trading day in the symbol's time zone).
    ts timestamptz NOT NULL,
    open double precision NOT NULL,
    high double precision NOT NULL,
    low double precision NOT NULL,
    close double precision NOT NULL,
    volume double precision NOT NULL,
    -- Cumulative adjustment factor (price * factor is backward-adjusted); NULL: none.
    factor double precision,
    PRIMARY KEY (symbol, ts)
);

CREATE OR REPLACE FUNCTION idc_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE idc_symbols SET version = version + 1 WHERE symbol IN (SELECT DISTINCT symbol FROM new_bars);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE idc_symbols SET version = version + 1 WHERE symbol IN (SELECT DISTINCT symbol FROM old_bars);
    END IF;
    RETURN NULL;
END
$$;

-- One trigger per event: PostgreSQL allows transition tables only on single-event triggers.
CREATE OR REPLACE TRIGGER idc_bars_inserted AFTER INSERT ON idc_bars
    REFERENCING NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION idc_bump_version();
CREATE OR REPLACE TRIGGER idc_bars_updated AFTER UPDATE ON idc_bars
    REFERENCING OLD TABLE AS old_bars NEW TABLE AS new_bars FOR EACH STATEMENT EXECUTE FUNCTION idc_bump_version();
CREATE OR REPLACE TRIGGER idc_bars_deleted AFTER DELETE ON idc_bars
    REFERENCING OLD TABLE AS old_bars FOR EACH STATEMENT EXECUTE FUNCTION idc_bump_version();
