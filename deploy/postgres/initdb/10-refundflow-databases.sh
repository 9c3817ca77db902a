#!/bin/sh
# The postgres image runs this once, when it initialises an empty data volume
# (/docker-entrypoint-initdb.d; it is sourced when not executable, so no
# `set -u` and no `exit`). Later changes to the passwords below have no
# effect on an existing volume: change them with ALTER ROLE.
#
# One server, three databases, two login roles:
#   refundflow           owned by refundflow  the product (goose migrations)
#   temporal             owned by temporal    Temporal's persistence store
#   temporal_visibility  owned by temporal    Temporal's visibility store
# The temporal role has CREATEDB because `temporal-sql-tool create-database`
# (the temporal-schema one-shot) checks that privilege even when the database
# already exists.
set -e

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
	-v refundflow_password="${REFUNDFLOW_DB_PASSWORD:?REFUNDFLOW_DB_PASSWORD is not set}" \
	-v temporal_password="${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is not set}" <<'SQL'
CREATE ROLE refundflow LOGIN PASSWORD :'refundflow_password';
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE DATABASE refundflow OWNER refundflow;
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
