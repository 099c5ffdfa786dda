using System.Text.Json.Serialization;

namespace Tolerex.Client.Bench;

// The Respect* options only change reading (the report verb): a result missing one of its fields, or with a
// null target, is refused instead of read as zeros. Fields that are not constructor parameters, or that have
// a default value, stay optional; unknown fields are ignored.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(BenchResult))]
[JsonSerializable(typeof(List<BenchResult>))]
internal sealed partial class BenchJson : JsonSerializerContext;
