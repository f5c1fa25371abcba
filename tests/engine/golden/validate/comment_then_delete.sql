SELECT Name FROM Artist; -- then
DELETE FROM Album
