-- dialect: postgres
SELECT ar."ArtistId", "Title" FROM "Album" AS al JOIN "Artist" AS ar ON al."ArtistId" = ar."ArtistId" ORDER BY "ArtistId"
