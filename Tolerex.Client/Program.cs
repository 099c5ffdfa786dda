Console.WriteLine("tolerex");
