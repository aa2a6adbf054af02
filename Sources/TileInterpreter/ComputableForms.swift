/// Values at a point of a box of the affine forms a proof found computable from the
/// point's coordinates (`UniformityChecker.isComputable`): their variables are the box's
/// axes or floor and ceiling divisions of such forms by constants.
struct ComputableForms {
    /// The checker's division variables: v = floor(x / k), or the ceiling.
    var divisions: [Int: (x: AffineForm, k: Int, ceiling: Bool)]

    /// The value of `form` at the box point whose axis variables have the values `axes`
    /// (by variable index); nil on overflow or for a variable it cannot compute.
    func value(_ form: AffineForm, axes: [Int]) -> Int? {
        var total = form.constant
        for (variable, coefficient) in form.terms {
            let x: Int
            if variable < axes.count {
                x = axes[variable]
            } else if let division = divisions[variable], let numerator = value(division.x, axes: axes) {
                x = division.ceiling ? IntegerArithmetic.ceilDivide(numerator, division.k) : IntegerArithmetic.floorDivide(numerator, division.k)
            } else {
                return nil
            }
            let (term, o1) = coefficient.multipliedReportingOverflow(by: x)
            let (sum, o2) = total.addingReportingOverflow(term)
            if o1 || o2 { return nil }
            total = sum
        }
        return total
    }

    /// The variables `forms` read, through the divisions they read.
    func variables(of forms: [AffineForm]) -> Set<Int> {
        var variables: Set<Int> = []
        func collect(_ form: AffineForm) {
            for variable in form.terms.keys where variables.insert(variable).inserted {
                if let division = divisions[variable] { collect(division.x) }
            }
        }
        forms.forEach(collect)
        return variables
    }
}
