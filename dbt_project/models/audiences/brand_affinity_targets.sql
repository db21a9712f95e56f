{#- Predicted brand affinities (brand_affinity_*, the chance of buying the brand in the next 90 days,
    from profile_predictions): the named brands by their own score, and the two similar new brands
    (each other's nearest by co-purchase) together. -#}
{{ cdp.audience(
    description='Brand-affinity targets: a strong predicted affinity for one of our three named brands (Northwind, Bluepeak, Copperline), or a high affinity for both similar new brands (Nimbus, Oakhurst).',
    conditions={'any': [
        {'trait': 'brand_affinity_northwind', 'op': '>=', 'value': 0.5},
        {'trait': 'brand_affinity_bluepeak', 'op': '>=', 'value': 0.5},
        {'trait': 'brand_affinity_copperline', 'op': '>=', 'value': 0.5},
        {'all': [
            {'trait': 'brand_affinity_nimbus', 'op': '>=', 'value': 0.3},
            {'trait': 'brand_affinity_oakhurst', 'op': '>=', 'value': 0.3},
        ], 'description': 'two similar new brands'},
    ]},
    payload=['favorite_brand', 'brand_affinity_northwind', 'brand_affinity_bluepeak', 'brand_affinity_copperline',
             'brand_affinity_nimbus', 'brand_affinity_oakhurst'],
) }}
