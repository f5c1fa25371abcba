SELECT Name FROM Artist; -- every artist
