using System.ComponentModel.DataAnnotations;

namespace Tolerex.ServiceDefaults.Configuration;

/// <summary>A duration setting that must be greater than zero.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PositiveDurationAttribute() : ValidationAttribute("must be a positive duration such as 500ms, 2s or 00:00:02")
{
    public override bool IsValid(object? value) => value is TimeSpan duration && duration > TimeSpan.Zero;
}
