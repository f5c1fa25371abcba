-- dialect: postgres
SELECT a."Name", COUNT(*) AS albums
FROM "Artist" AS a JOIN "Album" AS b ON b."ArtistId" = a."ArtistId"
GROUP BY a."Name" ORDER BY albums DESC
