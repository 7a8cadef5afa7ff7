namespace Dsoup.Models.Soup;

/// <summary>What to do with tensors that not every ingredient has.</summary>
public enum KeyPolicy
{
    /// <summary>Every ingredient must hold exactly the same tensors; any difference stops the merge.</summary>
    Strict,

    /// <summary>Merge the tensors all ingredients share; leave the rest out.</summary>
    Intersection,

    /// <summary>Merge shared tensors; take the others from the fallback model (which must hold them).</summary>
    Union,
}
