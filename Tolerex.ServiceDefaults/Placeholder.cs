namespace Tolerex.ServiceDefaults; internal static class Placeholder {}
