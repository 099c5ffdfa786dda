var builder = DistributedApplication.CreateBuilder(args);
builder.AddProject<Projects.Tolerex_Leader>("leader");
builder.Build().Run();
