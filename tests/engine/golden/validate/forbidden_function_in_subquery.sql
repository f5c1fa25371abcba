SELECT Name FROM Artist
WHERE Name = (SELECT pg_sleep(10))
