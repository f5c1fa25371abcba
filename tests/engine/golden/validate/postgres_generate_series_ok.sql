-- dialect: postgres
SELECT g FROM generate_series(1, 3) AS g
