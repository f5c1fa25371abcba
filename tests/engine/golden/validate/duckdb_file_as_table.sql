-- dialect: duckdb
SELECT * FROM "secrets.csv"
