using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tolerex.ServiceDefaults.Configuration;

/// <summary>Builds a node and checks its configuration before anything listens.</summary>
public static class NodeStartup
{
    /// <summary>
    /// Runs <paramref name="configure"/>, builds the application, validates every option and resolves
    /// <paramref name="resolve"/> (TLS material, say). On a configuration error it writes one line to stderr
    /// and returns null: the caller exits with code 2.
    /// </summary>
    public static WebApplication? Build(WebApplicationBuilder builder, string program, SettingAliases aliases, Action<WebApplicationBuilder> configure,
        Action<IServiceProvider>? resolve = null)
    {
        try
        {
            configure(builder);
            var app = builder.Build();
            app.Services.GetService<IStartupValidator>()?.Validate();
            resolve?.Invoke(app.Services);
            return app;
        }
        catch (Exception e) when (NodeConfiguration.Describe(e, builder.Configuration, aliases) is { } line)
        {
            Console.Error.WriteLine($"{program}: configuration error: {line}");
            return null;
        }
    }
}
