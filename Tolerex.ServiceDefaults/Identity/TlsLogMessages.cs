using Microsoft.Extensions.Logging;

namespace Tolerex.ServiceDefaults.Identity;

/// <summary>Start-up lines about a node's TLS material: where it came from, and expiry warnings.</summary>
public static partial class TlsLogMessages
{
    public static void LogNotes(this ILogger logger, NodeTls tls)
    {
        foreach (var note in tls.Notes)
        {
            if (note.StartsWith("WARNING", StringComparison.Ordinal))
                Warning(logger, note);
            else
                Information(logger, note);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Note}")]
    private static partial void Information(ILogger logger, string note);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Note}")]
    private static partial void Warning(ILogger logger, string note);
}
