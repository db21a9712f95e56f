with

source as (

    select * from {{ source('cdp', 'raw_events') }}

),

renamed as (

    select
        message_id as event_id,
        type as event_type,
        case
            when type = 'track' then event
            when type = 'page' then 'Page Viewed'
            when type = 'screen' then 'Screen Viewed'
            when type = 'identify' then 'Identify'
            when type = 'group' then 'Group'
            when type = 'alias' then 'Alias'
        end as event_name,
        name as page_name,
        user_id,
        anonymous_id,
        previous_id,
        group_id,
        nullif(lower(trim(coalesce(
            {{ json_text('traits', '$.email') }},
            {{ json_text('context', '$.traits.email') }},
            {{ json_text('properties', '$.email') }}
        ))), '') as email,
        nullif(trim({{ json_text('context', '$.device.id') }}), '') as device_id,
        nullif(trim({{ json_text('context', '$.device.advertisingId') }}), '') as advertising_id,
        {# Quoted through the adapter: Spark reads a double-quoted word as a string literal. #}
        {{ adapter.quote('timestamp') }} as event_at,
        received_at,
        is_future_timestamp,
        properties,
        traits,
        context,
        source,
        loaded_at
    from source

)

select * from renamed
