SELECT Name
FROM Track
WHERE GenreId IN (SELECT GenreId FROM Genre WHERE Nme = 'Rock')
