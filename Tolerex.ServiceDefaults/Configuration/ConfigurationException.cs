namespace Tolerex.ServiceDefaults.Configuration;

/// <summary>Bad configuration: the node prints the message on stderr and exits non-zero.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
