Console.WriteLine(new Projects.Avatar_Api().AssemblyPath);
