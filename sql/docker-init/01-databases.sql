-- Run once by the postgres image on an empty volume (docker-compose.yml):
-- the Prefect server keeps its own state in a database of its own.
CREATE DATABASE prefect;
